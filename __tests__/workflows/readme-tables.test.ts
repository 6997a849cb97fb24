/**
 * README.md is the user guide: its input and output tables must say what action.yml (and the
 * reusable workflow) declare, names, defaults and descriptions alike; and every troubleshooting
 * link an error hint carries must land on a heading. Generic: whatever inputs exist are compared
 * (regenerate the tables with `node scripts/readme-tables.mjs`).
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { README_URL, seeTroubleshooting, TROUBLESHOOTING_TOPICS } from '../../src/docs-links.js';

interface Spec {
  description?: string;
  default?: unknown;
  required?: boolean;
  type?: string;
}
interface Row {
  name: string;
  default: string;
  required: boolean;
  description: string;
  type?: string;
}

const README = readFileSync('README.md', 'utf8');
const ACTION = readFileSync('action.yml', 'utf8');
const WORKFLOW = readFileSync('.github/workflows/migrate.yml', 'utf8');

const unescape = (cell: string) =>
  cell
    .replace(/\\([\\|_*])/g, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .trim();

/** Splits a table row at the pipes that are not escaped. */
const cells = (line: string) =>
  line
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());

/** The rows of the table between `<!-- <marker>:start … -->` and `<!-- <marker>:end -->`. */
function table(readme: string, marker: string): Row[] {
  const block = new RegExp(`<!-- ${marker}:start[^>]*-->\\n([\\s\\S]*?)<!-- ${marker}:end -->`).exec(readme);
  if (!block) throw new Error(`README.md has no ${marker} block`);
  const lines = block[1].trim().split('\n');
  const header = cells(lines[0]);
  return lines.slice(2).map((line) => {
    const row = Object.fromEntries(header.map((h, i) => [h, cells(line)[i] ?? '']));
    const name = /^`([^`]+)`$/.exec(row.input ?? row.output)?.[1] ?? '';
    const fallback = row.default ?? '—';
    return {
      name,
      required: fallback === '**required**',
      default:
        fallback === '—' || fallback === '**required**' ? '' : (/^`(.*)`$/.exec(fallback)?.[1] ?? fallback),
      description: unescape(row.description),
      type: row.type,
    };
  });
}

const oneLine = (text: unknown) =>
  String(text ?? '')
    .trim()
    .replace(/\s*\n\s*/g, ' ');

/** What the table should hold, from the YAML declarations. */
function expected(specs: Record<string, Spec>, withType = false): Row[] {
  return Object.entries(specs).map(([name, spec]) => ({
    name,
    required: spec.required === true,
    default: spec.required ? '' : oneLine(spec.default),
    description: oneLine(spec.description),
    type: withType ? spec.type : undefined,
  }));
}

function actionTables(readme: string, actionYaml: string) {
  const action = parse(actionYaml) as { inputs: Record<string, Spec>; outputs: Record<string, Spec> };
  const outputs = table(readme, 'outputs-table').map(({ name, description }) => ({ name, description }));
  return {
    inputs: { readme: table(readme, 'inputs-table'), action: expected(action.inputs) },
    outputs: {
      readme: outputs,
      action: Object.entries(action.outputs).map(([name, o]) => ({
        name,
        description: oneLine(o.description),
      })),
    },
  };
}

describe('README tables', () => {
  it('the inputs table equals action.yml: every input, its default (or required) and its description', () => {
    const { inputs } = actionTables(README, ACTION);
    expect(inputs.readme.length).toBeGreaterThanOrEqual(20);
    expect(inputs.readme).toEqual(inputs.action);
  });

  it('the outputs table equals action.yml', () => {
    const { outputs } = actionTables(README, ACTION);
    expect(outputs.readme.length).toBeGreaterThanOrEqual(10);
    expect(outputs.readme).toEqual(outputs.action);
  });

  it('the reusable workflow’s inputs table equals migrate.yml (name, type, default, description)', () => {
    const workflow = parse(WORKFLOW) as { on: { workflow_call: { inputs: Record<string, Spec> } } };
    expect(table(README, 'workflow-inputs-table')).toEqual(expected(workflow.on.workflow_call.inputs, true));
  });

  it('notices a difference (so a pass means something): a changed description, default, or a new input', () => {
    const changed = ACTION.replace('default: 2s', 'default: 3s');
    expect(changed).not.toBe(ACTION);
    const a = actionTables(README, changed).inputs;
    expect(a.readme).not.toEqual(a.action);
    const added = ACTION.replace(
      '\noutputs:',
      '\n  new-thing:\n    description: A new input.\n    default: x\n\noutputs:',
    );
    const b = actionTables(README, added).inputs;
    expect(b.readme).not.toEqual(b.action);
    const reworded = ACTION.replace(
      'Number of migrations this run applied',
      'How many migrations this run applied',
    );
    const c = actionTables(README, reworded).outputs;
    expect(c.readme).not.toEqual(c.action);
    // A description with Markdown-special characters survives the escaping both ways.
    const special = README.replace('| `reason` | — | Why', '| `reason` | — | Why \\| \\_x\\_ &lt;y&gt;');
    expect(table(special, 'inputs-table').find((r) => r.name === 'reason')!.description).toMatch(
      /^Why \| _x_ <y>/,
    );
  });
});

describe('troubleshooting links in error hints', () => {
  /** GitHub's heading anchors: lower case, punctuation other than - and _ dropped, spaces as -. */
  const slug = (heading: string) =>
    heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .trim()
      .replace(/\s/g, '-');
  const section = README.slice(README.indexOf('\n## Troubleshooting\n'));
  const headings = [
    ...section
      .slice(1)
      .split(/\n## /)[0]
      .matchAll(/^### (.+)$/gm),
  ].map((m) => slug(m[1]));

  it.each(TROUBLESHOOTING_TOPICS)('%s is a heading of the README’s Troubleshooting section', (topic) => {
    expect(headings).toContain(topic);
    expect(seeTroubleshooting(topic)).toBe(` More: ${README_URL}#${topic}`);
  });
});
