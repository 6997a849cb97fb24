/**
 * What the commands use of src/backup, imported on demand (`await import('../backup/index.js')`):
 * one chunk of the bundle, loaded by the runs that take, restore or copy a dump. A run with nothing
 * to do never loads it, nor node:child_process (~2 ms at every start otherwise).
 */
export { takeBackup } from './backup.js';
export { aptInstaller, findPgTools } from './pg-tools.js';
export { createProcessRunner } from './process.js';
export { assertDecryptable } from './encrypted-restore.js';
export { restoreBackup } from './restore.js';
export { copySchema } from './schema-copy.js';
