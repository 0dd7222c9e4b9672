// Types of build-stamp.mjs, for the TypeScript tests that import it.
export const ROOT: string;
export function cacheDir(root?: string): string;
export function buildInputsKey(root?: string): string;
export function currentBuildKey(root?: string): string | undefined;
export function buildIsCurrent(root?: string): boolean;
export function buildIfChanged(options?: { announce?: string }): number;
export function writeBuildStamp(key: string, root?: string): void;
