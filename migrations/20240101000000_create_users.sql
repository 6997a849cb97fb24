-- Application users. Roles are free-form labels checked by RLS policies.
create table public.users (
  id uuid primary key default gen_random_uuid(),
  email text not null unique,
  name text,
  roles text[] not null default '{"user"}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Keeps updated_at honest on every UPDATE.
create or replace function public.set_updated_at() returns trigger
language plpgsql as $$
begin
  new.updated_at := now();
  return new;
end;
$$;

create trigger users_set_updated_at
  before update on public.users
  for each row execute function public.set_updated_at();

-- Exposed through Supabase's API: rows are reachable only through policies.
alter table public.users enable row level security;
