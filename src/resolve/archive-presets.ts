// Built-in base URLs of the historical archives, as data (design/mirrors.md §2.7–2.8, [S7]): the
// Debian snapshot service (its machine-readable /mr/ interface and /archive/ tree) and
// Launchpad's web service. Used after every live mirror missed, only while the presets are on;
// KDBG_DEBIAN_SNAPSHOT_URL / KDBG_LAUNCHPAD_URL or the config keys debianSnapshotUrl /
// launchpadUrl point them at a site's own copy (docs/mirrors.md, "Archives").

export interface ArchivePresets {
  /** Root of the snapshot service: `<root>mr/binary/…`, `<root>archive/<archive>/<timestamp>/…`. */
  debianSnapshot: string;
  /** Launchpad web service root with its API version: `<root>ubuntu/+archive/primary?ws.op=…`. */
  launchpad: string;
}

export const ARCHIVE_PRESETS: Readonly<ArchivePresets> = {
  debianSnapshot: 'https://snapshot.debian.org/',
  launchpad: 'https://api.launchpad.net/devel/',
};
