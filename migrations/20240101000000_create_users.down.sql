drop trigger if exists users_set_updated_at on public.users;
drop function if exists public.set_updated_at();
drop table if exists public.users;
