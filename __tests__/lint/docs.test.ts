import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RULES } from '../../src/lint/index.js';
import { lintSql } from '../helpers/lint.js';

const docs = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'lint');
/** Reported by the lint command about a folder, not by linting SQL. */
const NOT_FROM_SQL = new Set(['invalid-migration-file']);

function examples(id: string): { bad: string; good: string } {
  const text = readFileSync(join(docs, `${id}.md`), 'utf8');
  const blocks = [...text.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]);
  return { bad: blocks[0], good: blocks[1] };
}

describe('docs/lint/<rule>.md', () => {
  const ids = RULES.filter((r) => r.family !== 'security').map((r) => r.id);

  it('exists for every rule, with the hazard, the safe pattern and an example of each', () => {
    for (const id of ids) {
      const path = join(docs, `${id}.md`);
      expect([id, existsSync(path)]).toEqual([id, true]);
      const text = readFileSync(path, 'utf8');
      expect(text).toContain('## The hazard');
      expect(text).toContain('## The safe pattern');
      expect(examples(id).bad).toBeTruthy();
      expect(examples(id).good).toBeTruthy();
    }
  });

  it.each(ids.filter((id) => !NOT_FROM_SQL.has(id)))(
    '%s: the documented example triggers it and the documented safe version does not',
    async (id) => {
      const { bad, good } = examples(id);
      const flagged = (await lintSql([bad])).findings.filter((f) => f.rule === id && !f.ignored);
      expect(flagged.length).toBeGreaterThan(0);
      const safe = (await lintSql([good])).findings.filter((f) => f.rule === id && !f.ignored);
      expect(safe).toEqual([]);
    },
  );
});
