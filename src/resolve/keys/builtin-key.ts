// The shape of one shipped distribution signing key (keys/*.ts, generated).
export interface BuiltinKey {
  /** The name presets and config `gpgkey: "builtin:<name>"` use (the distribution's file name). */
  name: string;
  /** Where the text was taken from: a repository, commit and path. */
  source: string;
  /** The primary keys' fingerprints, as `gpg --show-keys` printed them when the module was generated. */
  fingerprints: string[];
  /** The ASCII-armored public key block(s). */
  armor: string;
}
