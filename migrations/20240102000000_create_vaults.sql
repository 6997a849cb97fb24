create table public.vaults (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  description text,
  owner_id uuid not null references public.users (id) on delete cascade,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index vaults_owner_id_idx on public.vaults (owner_id);

create trigger vaults_set_updated_at
  before update on public.vaults
  for each row execute function public.set_updated_at();

-- Exposed through Supabase's API: rows are reachable only through policies.
alter table public.vaults enable row level security;
