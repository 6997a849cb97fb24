// Writes README.md's input and output tables from action.yml (names, defaults, descriptions), and
// the reusable workflow's input table from .github/workflows/migrate.yml, so
// the two never disagree: `node scripts/readme-tables.mjs` after changing action.yml
// (__tests__/workflows/readme-tables.test.ts fails until the README matches).
import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';

const action = parse(readFileSync('action.yml', 'utf8'));
const workflow = parse(readFileSync('.github/workflows/migrate.yml', 'utf8'));
// Markdown-safe and one line: pipes and emphasis characters escaped, angle brackets as entities
// (<version> would be read as an HTML tag).
const cell = (text) =>
  String(text)
    .trim()
    .replace(/\s*\n\s*/g, ' ')
    .replace(/[\\|_*]/g, '\\$&')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
const defaultCell = (input) =>
  input.required
    ? '**required**'
    : input.default === undefined || input.default === ''
      ? '—'
      : `\`${input.default}\``;

const inputs = [
  '| input | default | description |',
  '|---|---|---|',
  ...Object.entries(action.inputs).map(
    ([name, input]) => `| \`${name}\` | ${defaultCell(input)} | ${cell(input.description)} |`,
  ),
];
const outputs = [
  '| output | description |',
  '|---|---|',
  ...Object.entries(action.outputs).map(([name, output]) => `| \`${name}\` | ${cell(output.description)} |`),
];

const workflowInputs = [
  '| input | type | default | description |',
  '|---|---|---|---|',
  ...Object.entries(workflow.on.workflow_call.inputs).map(
    ([name, input]) => `| \`${name}\` | ${input.type} | ${defaultCell(input)} | ${cell(input.description)} |`,
  ),
];

let readme = readFileSync('README.md', 'utf8');
for (const [marker, lines] of [
  ['inputs', inputs],
  ['outputs', outputs],
  ['workflow-inputs', workflowInputs],
]) {
  const block = new RegExp(`(<!-- ${marker}-table:start[^>]*-->\\n)[\\s\\S]*?(<!-- ${marker}-table:end -->)`);
  if (!block.test(readme)) throw new Error(`README.md has no <!-- ${marker}-table:start --> … end markers`);
  readme = readme.replace(block, (_, start, end) => `${start}${lines.join('\n')}\n${end}`);
}
writeFileSync('README.md', readme);
