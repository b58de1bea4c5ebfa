#!/usr/bin/env node
// Regenerates src/resolve/keys/*.ts (one module per distribution signing key, the armored key as
// text) from a local git copy of rpm-software-management/distribution-gpg-keys, the project that
// collects every distribution's published RPM keys with their sources (its SOURCES.md). Run by a
// maintainer, never by the build or the tests (no network): the modules are committed.
//   node scripts/keys/gen-builtin-keys.mjs <git dir of distribution-gpg-keys> [commit]
// Each key's fingerprints are computed here with the real `gpg --show-keys`; the test
// test/resolve/builtin-keys.test.ts recomputes them and compares with docs/signatures.md.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [gitDir, commitArg] = process.argv.slice(2);
if (!gitDir) throw new Error('usage: gen-builtin-keys.mjs <git dir> [commit]');
const git = (...a) => execFileSync('git', ['--git-dir', gitDir, ...a], { encoding: 'utf8', maxBuffer: 1 << 24 });
const commit = commitArg ?? git('rev-parse', 'HEAD').trim();

// [name in kdbg, path in distribution-gpg-keys, where the distribution publishes it]
const KEYS = [
  ['RPM-GPG-KEY-CentOS-5', 'keys/centos/RPM-GPG-KEY-CentOS-5'],
  ['RPM-GPG-KEY-CentOS-6', 'keys/centos/RPM-GPG-KEY-CentOS-6'],
  ['RPM-GPG-KEY-CentOS-Debug-6', 'keys/centos/RPM-GPG-KEY-CentOS-Debug-6'],
  ['RPM-GPG-KEY-CentOS-7', 'keys/centos/RPM-GPG-KEY-CentOS-7'],
  ['RPM-GPG-KEY-CentOS-7-aarch64', 'keys/centos/RPM-GPG-KEY-CentOS-7-aarch64'],
  ['RPM-GPG-KEY-CentOS-Debug-7', 'keys/centos/RPM-GPG-KEY-CentOS-Debug-7'],
  ['RPM-GPG-KEY-centosofficial', 'keys/centos/RPM-GPG-KEY-CentOS-Official'],
  ['RPM-GPG-KEY-centosofficial-SHA256', 'keys/centos/RPM-GPG-KEY-CentOS-Official-SHA256'],
  ['RPM-GPG-KEY-redhat7-release', 'keys/redhat/RPM-GPG-KEY-redhat6-release'],
  ['RPM-GPG-KEY-redhat8-release', 'keys/redhat/RPM-GPG-KEY-redhat8-release'],
  ['RPM-GPG-KEY-redhat9-release', 'keys/redhat/RPM-GPG-KEY-redhat9-release'],
  ['RPM-GPG-KEY-redhat10-release', 'keys/redhat/RPM-GPG-KEY-redhat10-release-without-PQC'],
  ['RPM-GPG-KEY-Rocky-8', 'keys/rocky/RPM-GPG-KEY-rockyofficial'],
  ['RPM-GPG-KEY-Rocky-9', 'keys/rocky/RPM-GPG-KEY-Rocky-9'],
  ['RPM-GPG-KEY-Rocky-10', 'keys/rocky/RPM-GPG-KEY-Rocky-10'],
  ['RPM-GPG-KEY-AlmaLinux-8', 'keys/alma/RPM-GPG-KEY-AlmaLinux-8'],
  ['RPM-GPG-KEY-AlmaLinux-9', 'keys/alma/RPM-GPG-KEY-AlmaLinux-9'],
  ['RPM-GPG-KEY-AlmaLinux-10', 'keys/alma/RPM-GPG-KEY-AlmaLinux-10'],
  ['RPM-GPG-KEY-oracle-el5', 'keys/oraclelinux/RPM-GPG-KEY-oracle-el5'],
  ['RPM-GPG-KEY-oracle-ol6', 'keys/oraclelinux/RPM-GPG-KEY-oracle-ol6'],
  ['RPM-GPG-KEY-oracle-ol7', 'keys/oraclelinux/RPM-GPG-KEY-oracle-ol7'],
  ['RPM-GPG-KEY-oracle-ol8', 'keys/oraclelinux/RPM-GPG-KEY-oracle-ol8'],
  ['RPM-GPG-KEY-oracle-ol9', 'keys/oraclelinux/RPM-GPG-KEY-oracle-ol9'],
  ['RPM-GPG-KEY-oracle-ol10', 'keys/oraclelinux/RPM-GPG-KEY-oracle-ol10'],
  ...Array.from({ length: 47 - 19 }, (_, i) => i + 20).map((n) => [`RPM-GPG-KEY-fedora-${n}-primary`, `keys/fedora/RPM-GPG-KEY-fedora-${n}-primary`]),
  ['RPM-GPG-KEY-amazon-linux-2', 'keys/amazon-linux/RPM-GPG-KEY-amazon-linux-2'],
  ['RPM-GPG-KEY-amazon-linux-2023', 'keys/amazon-linux/RPM-GPG-KEY-amazon-linux-2023'],
  ['RPM-GPG-KEY-openEuler', 'keys/openeuler/RPM-GPG-KEY-openEuler'],
  ['RPM-GPG-KEY-openEuler-EulerMaker', 'keys/openeuler/RPM-GPG-KEY-openEuler-EulerMaker'],
  ['RPM-GPG-KEY-ANOLIS', 'keys/anolis/RPM-GPG-KEY-ANOLIS'],
  ['RPM-GPG-KEY-openSUSE', 'keys/opensuse/RPM-GPG-KEY-openSUSE'],
  ['RPM-GPG-KEY-openSUSE-2022', 'keys/opensuse/RPM-GPG-KEY-openSUSE-2022'],
  ['RPM-GPG-KEY-SuSE-SLE-15', 'keys/suse/RPM-GPG-KEY-SuSE-SLE-15'],
  ['RPM-GPG-KEY-SuSE-SLE-Main-2023', 'keys/suse/RPM-GPG-KEY-SuSE-SLE-Main-2023'],
];

/** The target of a symlink in git (mode 120000) followed, within the same directory. */
function blob(path) {
  const [mode] = git('ls-tree', commit, path).split(/\s/);
  const text = git('show', `${commit}:${path}`);
  if (mode === '120000') return blob(join(path, '..', text.trim()));
  return text;
}

const home = mkdtempSync(join(tmpdir(), 'kdbg-genkeys-'));
function fingerprints(armor) {
  const out = execFileSync('gpg', ['--batch', '--no-default-keyring', '--homedir', home, '--show-keys', '--with-colons', '--with-fingerprint'], { input: armor, encoding: 'utf8', stdio: ['pipe', 'pipe', 'ignore'] });
  const fprs = [];
  let primary = false;
  for (const l of out.split('\n')) {
    const f = l.split(':');
    if (f[0] === 'pub') primary = true;
    else if (f[0] === 'sub') primary = false;
    else if (f[0] === 'fpr' && primary) {
      fprs.push(f[9]);
      primary = false;
    }
  }
  return fprs;
}

const dir = join(import.meta.dirname, '..', '..', 'src', 'resolve', 'keys');
for (const f of readdirSync(dir, { withFileTypes: true })) if (f.name.endsWith('.ts') && f.name !== 'builtin-key.ts') rmSync(join(dir, f.name));
const ident = (name) => name.replace(/^RPM-GPG-KEY-/, '').replace(/[^A-Za-z0-9]+/g, '_').replace(/^(\d)/, 'k$1');
const rows = [];
const mod = (name) => name.replace(/^RPM-GPG-KEY-/, '').toLowerCase();
// Two names for one key text (Red Hat's 7 and 8 release keys, Oracle's ol9 and ol10): the second
// module takes the text from the first instead of holding a copy.
const firstWithText = new Map();
for (const [name, path] of KEYS) {
  const armor = blob(path).replace(/\r\n/g, '\n');
  if (!armor.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) throw new Error(`${path}: not an armored public key`);
  const fprs = fingerprints(armor);
  if (fprs.length === 0) throw new Error(`${path}: gpg found no key`);
  if (/[`$\\]/.test(armor)) throw new Error(`${path}: characters that a template literal would change`);
  const src = `https://github.com/rpm-software-management/distribution-gpg-keys/blob/${commit}/${path}`;
  const same = firstWithText.get(armor);
  if (same) {
    writeFileSync(
      join(dir, `${mod(name)}.ts`),
      `// ${name}: from rpm-software-management/distribution-gpg-keys, ${path} at ${commit}\n// (${src}): the same key text as ${same.name}.\n// Generated by scripts/keys/gen-builtin-keys.mjs; do not edit.\nimport type { BuiltinKey } from './builtin-key.js';\nimport { key as same } from './${same.mod}.js';\n\nexport const key: BuiltinKey = { ...same, name: '${name}', source: '${src}' };\n`,
    );
    rows.push({ name, ident: ident(name), mod: mod(name), fprs, path });
    continue;
  }
  firstWithText.set(armor, { name, mod: mod(name) });
  writeFileSync(
    join(dir, `${mod(name)}.ts`),
    `// ${name}: from rpm-software-management/distribution-gpg-keys, ${path} at ${commit}\n// (${src}).\n// Generated by scripts/keys/gen-builtin-keys.mjs; do not edit.\nimport type { BuiltinKey } from './builtin-key.js';\n\nexport const key: BuiltinKey = {\n  name: '${name}',\n  source: '${src}',\n  fingerprints: ${JSON.stringify(fprs)},\n  armor: \`${armor.trimEnd()}\n\`,\n};\n`,
  );
  rows.push({ name, ident: ident(name), mod: mod(name), fprs, path });
}
writeFileSync(
  join(dir, 'index.ts'),
  `// The distributions' RPM signing keys kdbg ships (issue 16, item 2), by name; presets.ts's\n// presets name them (preset-keys.ts). Generated by scripts/keys/gen-builtin-keys.mjs; do not edit.\nimport type { BuiltinKey } from './builtin-key.js';\n${rows.map((r) => `import { key as ${r.ident} } from './${r.mod}.js';`).join('\n')}\n\nexport type { BuiltinKey } from './builtin-key.js';\n\nexport const BUILTIN_KEYS: ReadonlyMap<string, BuiltinKey> = new Map([${rows.map((r) => `\n  [${r.ident}.name, ${r.ident}],`).join('')}\n]);\n`,
);
// The names alone, for config validation: loading the 61 key texts is left to the one place that
// writes a key file (preset-keys.ts builtinKeyArmor), off the start-up of every fetch.
writeFileSync(
  join(dir, 'names.ts'),
  `// The names of the keys in ./index.ts, without their text. Generated by scripts/keys/gen-builtin-keys.mjs; do not edit.\nexport const BUILTIN_KEY_NAMES: ReadonlySet<string> = new Set([${rows.map((r) => `\n  '${r.name}',`).join('')}\n]);\n`,
);
rmSync(home, { recursive: true, force: true });
// The table for docs/signatures.md.
console.log(`| Key | Fingerprint(s) | Taken from (distribution-gpg-keys ${commit.slice(0, 12)}) |`);
console.log('|---|---|---|');
for (const r of rows) console.log(`| \`${r.name}\` | ${r.fprs.map((f) => `\`${f}\``).join('<br>')} | \`${r.path}\` |`);
