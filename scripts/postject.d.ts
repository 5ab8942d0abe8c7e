// Types of the one postject function scripts/build-binary.ts calls (the package ships no declarations).
declare module 'postject' {
  /** Inject `data` as resource `name` into the executable `file`, flipping the fuse `options.sentinelFuse`. */
  export function inject(file: string, name: string, data: Buffer, options: {sentinelFuse: string}): Promise<void>;
}
