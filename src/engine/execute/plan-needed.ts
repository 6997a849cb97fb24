/**
 * Thrown by a step source when a file turns out to need the full plan (a statement that must run
 * outside the transaction): the attempt is rolled back and the caller plans the run properly.
 */
export class PlanNeededError extends Error {
  constructor(readonly version: string) {
    super(`migration ${version} needs a transaction of its own`);
    this.name = 'PlanNeededError';
  }
}
