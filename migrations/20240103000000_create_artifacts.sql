create table public.artifacts (
  id uuid primary key default gen_random_uuid(),
  vault_id uuid not null references public.vaults (id) on delete cascade,
  name text not null,
  content jsonb,
  metadata jsonb not null default '{}'::jsonb,
  content_hash text,
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index artifacts_vault_id_idx on public.artifacts (vault_id);

create trigger artifacts_set_updated_at
  before update on public.artifacts
  for each row execute function public.set_updated_at();

-- Exposed through Supabase's API: rows are reachable only through policies.
alter table public.artifacts enable row level security;
