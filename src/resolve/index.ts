// resolve/: kernel release + wanted packages → where to download them (URLs, size, sha256).
// Mirror configuration (flags, config file, host yum repos, presets) and the lookup itself;
// Debian/Ubuntu go through the apt-index resolver in deb.ts.

export { loadMirrorConfig, validateConfig, type LoadConfigOptions, type MirrorConfig, type MirrorSource, type SourceType } from './config.js';
export { resolvePackages, resolveHref, debOptions, type Attempt, type ResolveOptions } from './lookup.js';
export { candidatesFor, mirrorLayout, selectorMatches, type Candidate } from './layout.js';
export { PRESETS, type Preset } from './presets.js';
export { parseRepoFile } from './yum-repos.js';
