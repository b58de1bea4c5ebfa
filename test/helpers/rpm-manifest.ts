// The RPM fixture manifest written by scripts/fixtures/10-rpm-mirror.sh: every package it built,
// with the values the real tools gave for it (sha256sum, rpm -qp, readelf -n of the vmlinux).
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { requireFixture } from './fixtures.js';

export interface RpmManifestPackage {
  /** Path relative to the fixture root, e.g. mirror/7/x86_64/kernel-debuginfo-….rpm. */
  file: string;
  /** Naming set: el7, el8, el9, uek, fc39, … */
  set: string;
  role: 'vmlinux' | 'source' | 'corrupt' | 'truncated' | 'invalid';
  name: string;
  version: string;
  release: string;
  arch: string;
  uname: string;
  compressor: string;
  /** Member path of the vmlinux (vmlinux packages), else null. */
  vmlinux: string | null;
  vmlinuxSha256: string | null;
  buildId: string | null;
  sha256: string;
  size: number;
  /** The same file elsewhere in the fixture tree (plain directory layout, koji layout). */
  copies?: string[];
}

export interface RpmManifest {
  version: number;
  /** The mirror tree, relative to the fixture root. */
  mirrorBase: string;
  /** The public key every package and repomd.xml is signed with (rpmsign, repomd.xml.asc), relative to the fixture root, and its fingerprint. */
  gpgkey: string;
  fingerprint: string;
  packages: RpmManifestPackage[];
  hostile: { name: string; cpio: string; rpm: string }[];
  largefile: { file: string; compressor: string; bigMember: string; bigSize: number };
}

export const rpmManifestPath = requireFixture('rpm', 'manifest.json');
export const rpmFixtureRoot = dirname(rpmManifestPath);

export function readRpmManifest(): RpmManifest {
  return JSON.parse(readFileSync(rpmManifestPath, 'utf8')) as RpmManifest;
}
