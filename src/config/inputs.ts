import * as core from '@actions/core';
import { INPUT_NAMES, type RawInputs } from './settings.js';

/** The only reader of action inputs: returns them raw, by action.yml name, for parseSettings. */
export function readActionInputs(): RawInputs {
  const raw: RawInputs = {};
  for (const name of INPUT_NAMES) raw[name] = core.getInput(name);
  return raw;
}
