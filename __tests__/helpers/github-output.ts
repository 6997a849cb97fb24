/** GITHUB_OUTPUT as @actions/core writes it: `name<<DELIMITER`, value lines, `DELIMITER`. */
export function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  let i = 0;
  while (i < lines.length) {
    const line = lines[i++];
    if (line === '') continue;
    const heredoc = /^([^<=]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delimiter] = heredoc;
      const value: string[] = [];
      while (i < lines.length && lines[i] !== delimiter) value.push(lines[i++]);
      if (i >= lines.length)
        throw new Error(`GITHUB_OUTPUT: value of "${name}" is not terminated by ${delimiter}`);
      i++;
      outputs[name] = value.join('\n');
      continue;
    }
    const simple = /^([^=]+)=(.*)$/.exec(line);
    if (!simple) throw new Error(`GITHUB_OUTPUT: unexpected line ${JSON.stringify(line)}`);
    outputs[simple[1]] = simple[2];
  }
  return outputs;
}
