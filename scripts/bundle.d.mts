// Types of bundle.mjs, for the TypeScript tests that import it.
export function bundlesDir(root?: string): string;
export function bundleEntry(key: string, root?: string): string;
export function bundleIsCurrent(key: string | undefined, root?: string): boolean;
export function keepModulePaths(text: string, path: string): string | undefined;
export function writeStartBundle(outDir: string, root?: string): Promise<void>;
export function bundleBuild(key: string, root?: string): Promise<void>;
