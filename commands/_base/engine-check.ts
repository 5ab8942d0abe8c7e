// Imported by main.ts before oclif, so it runs first: oclif checks, when it is imported, that Node satisfies
// the engines of its own package.json, and loads semver (47 modules) to do it — about 30 ms of every start
// (docs/performance.md, "Start-up"). That check is oclif's documented switch OCLIF_DISABLE_ENGINE_WARNING; this
// package's own engines (Node 20 or later) are what npm checks at install. The variable is set only for the
// import and removed again by main(), so nothing this process starts inherits it.

const SWITCH = 'OCLIF_DISABLE_ENGINE_WARNING';
const setHere = process.env[SWITCH] === undefined;
if (setHere) process.env[SWITCH] = '1';

/** Remove the switch again if this module set it (oclif reads it only when it is imported). */
export function restoreEngineCheck(): void {
  if (setHere) delete process.env[SWITCH];
}
