// RPM package container (v3/v4/v6): lead, signature header, main header. Everything is big-endian.
// Layout: Lead (96) | Signature header | pad to 8 | Main header | Payload (compressed cpio, to EOF).
// Field names follow rpm's own (lib/header.cc, rpmtag.h); see design/formats.md §B.
//
// Files: rpm-header.ts (lead, header index and store), rpm-tags.ts (typed tag accessors),
// rpm-info.ts (what kdbg needs from a package, the file list, reading a package's head).

export { RPM_LEAD_SIZE, RPM_LEAD_MAGIC, RPM_HEADER_MAGIC, RPM_HEADER_INTRO_SIZE, HEADER_TAGS_MAX, HEADER_DATA_MAX, RpmTagType, RpmTag, RpmSigTag, RPMFILE_GHOST, type RpmLead, type RpmHeaderEntry, type RpmHeader, parseRpmLead, parseRpmHeaderIntro, parseRpmHeader, readRpmHeader } from './rpm-header.js';
export { headerString, headerStringArray, headerIntArray, headerInt } from './rpm-tags.js';
export { type RpmFileInfo, type RpmInfo, RPM_MAX_FILES, rpmInfo, rpmFiles, type RpmPackageHead, readRpmHead } from './rpm-info.js';
export { type RpmHeaderSignature, rpmHeaderSignatures, signedHeaderBytes, fileDigestName } from './rpm-sig.js';
