/**
 * Histories for the linter benchmark: the Supabase-style migrations of generate.mjs (tables,
 * indexes, functions, triggers, RLS and policies, views, seeds, column additions, DO blocks), with
 * the changes real projects also make mixed in, hazardous and safe: indexes on existing tables
 * with and without CONCURRENTLY, constraints with and without NOT VALID, SET NOT NULL, type
 * changes, volatile defaults, drops and renames, definer functions, unwrapped auth.uid() in
 * policies, views without security_invoker, grants to the API roles, timestamp/varchar columns,
 * TRUNCATE and DELETE without WHERE. Deterministic: the same arguments give the same files.
 *
 * `linesPerFile` > 0 packs consecutive migrations into files of at least that many lines, as the
 * long-lived projects' histories look (1,262 files for 200,000 lines: ~160 lines a file).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateMigrations, prng } from './generate.mjs';

/** Each takes an existing table `t` (and another `p`) and a unique suffix `m`; returns SQL. */
const CHANGES = [
  // Locks and rewrites: hazardous forms, then the safe forms of the same changes.
  (t, _p, m) => `create index ix_${t}_title_${m} on public.${t} (title);`,
  (t, _p, m) => `create index concurrently if not exists ix_${t}_status_${m} on public.${t} (status);`,
  (t, p, m) =>
    `alter table public.${t} add column ref_${m} bigint;\nalter table public.${t} add constraint ${t}_ref_${m}_fkey foreign key (ref_${m}) references public.${p} (id);`,
  (t, p, m) =>
    `alter table public.${t} add column link_${m} bigint;\nalter table public.${t} add constraint ${t}_link_${m}_fkey foreign key (link_${m}) references public.${p} (id) not valid;\nalter table public.${t} validate constraint ${t}_link_${m}_fkey;`,
  (t, _p, m) => `alter table public.${t} add constraint ${t}_amount_${m}_check check (amount < 1000000);`,
  (t) => `alter table public.${t} alter column metadata set not null;`,
  (t) => `alter table public.${t} alter column amount type numeric(14, 2);`,
  (t, _p, m) => `alter table public.${t} add column token_${m} uuid default gen_random_uuid();`,
  (t, _p, m) => `alter table public.${t} add column flag_${m} boolean not null default false;`,
  (t, _p, m) => `alter table public.${t} add constraint ${t}_slug_${m}_key unique (slug);`,
  // Destructive.
  (t, _p, m) => `alter table public.${t} add column tmp_${m} text;\nalter table public.${t} drop column tmp_${m};`,
  (t, _p, m) => `alter table public.${t} rename column title to title_${m};\nalter table public.${t} rename column title_${m} to title;`,
  (t) => `alter table public.${t} alter column owner_id drop not null;`,
  (t) => `delete from public.${t};`,
  (t) => `update public.${t} set updated_at = now() where id < 100;`,
  (t) => `truncate public.${t} cascade;`,
  (_t, _p, m) => `create table public.scratch_${m} (id int);\ndrop table public.scratch_${m};`,
  // Types.
  (_t, _p, m) =>
    `create table public.legacy_${m} (\n  id serial primary key,\n  code varchar(20) not null,\n  kind char(3),\n  seen_at timestamp\n);\nalter table public.legacy_${m} enable row level security;`,
  // Supabase security: hazardous and safe forms.
  (_t, _p, m) => `create table public.open_${m} (id bigint primary key, body text);\ngrant select on public.open_${m} to anon;`,
  (_t, _p, m) =>
    `create table public.closed_${m} (id bigint primary key, owner_id uuid);\nalter table public.closed_${m} enable row level security;`,
  (t, _p, m) =>
    `create policy "${t} delete own ${m}" on public.${t}\n  for delete to authenticated\n  using (owner_id = auth.uid());`,
  (t, _p, m) =>
    `create or replace function public.admin_${t}_${m}()\nreturns bigint\nlanguage sql\nsecurity definer\nas $$\n  select count(*) from public.${t}\n$$;`,
  (t, _p, m) =>
    `create or replace function public.safe_${t}_${m}()\nreturns bigint\nlanguage sql\nsecurity definer\nset search_path = ''\nas $$\n  select count(*) from public.${t}\n$$;`,
  (t, _p, m) => `create view public.report_${m} as\nselect id, title, amount from public.${t};`,
  // Robustness.
  () => `set statement_timeout = 0;`,
  (t, _p, m) =>
    `create materialized view public.mv_${m} as select id, amount from public.${t};\nrefresh materialized view public.mv_${m};`,
];

/**
 * `migrations` generated migrations, one change of CHANGES mixed into every `every`-th one.
 * Returns [{ fileName, sql }] (migrations packed `linesPerFile` lines a file when > 0).
 */
export function generateLintHistory({ migrations, linesPerFile = 0, every = 2, seed = 7 }) {
  const { files } = generateMigrations(migrations, seed);
  const rand = prng(seed * 31 + 1);
  const tables = [];
  const out = files.map((f, i) => {
    let sql = f.sql;
    if (f.kind === 'table') tables.push(f.name.slice('create_'.length));
    else if (tables.length >= 2 && i % every === 0) {
      const change = CHANGES[Math.floor(rand() * CHANGES.length)];
      const t = tables[Math.floor(rand() * tables.length)];
      const p = tables[Math.floor(rand() * tables.length)];
      sql += `\n${change(t, p, `c${i}`)}\n`;
    }
    return { fileName: f.fileName, sql };
  });
  if (linesPerFile <= 0) return out;
  const packed = [];
  let current;
  for (const f of out) {
    if (!current) current = { fileName: f.fileName, sql: '', lines: 0 };
    current.sql += `${f.sql}\n`;
    current.lines += f.sql.split('\n').length;
    if (current.lines >= linesPerFile) {
      packed.push({ fileName: current.fileName, sql: current.sql });
      current = undefined;
    }
  }
  if (current) packed.push({ fileName: current.fileName, sql: current.sql });
  return packed;
}

/** Writes the files into `dir` (created); returns { files, lines, bytes }. */
export function writeHistory(dir, files) {
  mkdirSync(dir, { recursive: true });
  let lines = 0;
  let bytes = 0;
  for (const f of files) {
    writeFileSync(join(dir, f.fileName), f.sql);
    lines += f.sql.split('\n').length - 1;
    bytes += Buffer.byteLength(f.sql);
  }
  return { files: files.length, lines, bytes };
}
