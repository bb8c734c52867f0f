/** Types for scripts/build.mjs (plain JavaScript: it runs before TypeScript can be loaded). */
export declare const ROOT: string;
export declare const BUNDLE: string;
export declare function bundleIsFresh(): boolean;
export declare function bundle(entry: string, outfile: string): Promise<string>;
export declare function ensureBundle(): Promise<string | null>;
