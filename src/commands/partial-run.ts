// The partly-applied-file rules live with the staged apply (engine/staged-apply/partial-files.ts).
export { rehearsalReason, resumePartialFiles } from '../engine/staged-apply/partial-files.js';
