// The diff as data: a list of classified differences. Renderers (text, JSON, HTML) only read this.

/** What differs. A closed union: renderers and the JSON schema (README.md) list every kind. */
export type DiffKind =
  | 'index' // a platform present on one side only, or an index field
  | 'manifest' // a manifest field (media type, artifact type, config media type)
  | 'config' // an image config field other than env, labels, history
  | 'env' // one environment variable (field = its name)
  | 'history' // one history entry field, or the history length
  | 'label' // one config label (field = its key)
  | 'annotation' // one index or manifest annotation (field = its key)
  | 'layer-count' // the images have different numbers of layers (filesystems then compared flattened)
  | 'layer-order' // the same layers in another order (filesystems then compared flattened)
  | 'compression' // same uncompressed layer, different compressed bytes or media type
  | 'tar-format' // different uncompressed layer bytes but no entry difference (headers, padding, encodings)
  | 'entry-added' // a path only in B
  | 'entry-removed' // a path only in A
  | 'whiteout' // a whiteout entry (.wh.*) on one side only
  | 'entry-type' // same path, different entry type
  | 'content' // file bytes (size or sha256)
  | 'mode' // permission bits
  | 'owner' // uid, gid, uname, gname
  | 'mtime' // modification time
  | 'link-target' // symlink or hardlink target
  | 'xattr' // one extended attribute (field = its name)
  | 'device' // devmajor/devminor
  | 'pax' // a PAX record not represented by another field (field = its key)
  | 'entry-order'; // the common entries of a layer come in a different order

/** Which `--ignore-*` flag hides a difference; `substance` is never hidden. */
export type DiffClass =
  | 'timestamp'
  | 'history'
  | 'file-order'
  | 'mode-redundant-bits'
  | 'tar-format'
  | 'wrapper'
  | 'substance';

/** How much a difference matters, for ordering: `high` changes what runs, `low` only how it is encoded. */
export type Severity = 'high' | 'medium' | 'low';

/** JSON-representable values on either side (`null` means absent). */
export type DiffValue = string | number | boolean | null | DiffValue[] | { [key: string]: DiffValue };

/** Bounded evidence for a content difference: both texts (files under 1 MiB), or bytes around the first difference. */
export interface ContentDetail {
  /** Both bodies as UTF-8 text, when both are text (no NUL, valid UTF-8) and under 1 MiB. */
  text?: { a: string; b: string };
  /** The first differing byte offset and up to 64 bytes (hex) from 16 bytes before it, when within the first 1 MiB. */
  bytes?: { offset: number; start: number; a: string; b: string };
}

/** One difference between image A and image B. */
export interface Difference {
  kind: DiffKind;
  class: DiffClass;
  severity: Severity;
  /** `os/arch[/variant]` of the image it belongs to. */
  platform?: string;
  /** Layer position (0-based); absent for image-level and flattened-filesystem differences. */
  layer?: number;
  /** Path inside the layer or filesystem (no leading `/`, directories end with `/`). */
  path?: string;
  /** The field, variable, key or attribute that differs. */
  field?: string;
  a: DiffValue;
  b: DiffValue;
  detail?: ContentDetail;
}

/** What `--ignore-*` / `--semantic` and `--platform` select. */
export interface DiffOptions {
  ignore?: Partial<Record<Exclude<DiffClass, 'substance'>, boolean>>;
  /** `os/arch[/variant]`: compare only this platform. */
  platform?: string;
}

/** The result of comparing two image sets. */
export interface DiffResult {
  /** Version of this JSON shape (README.md). */
  schemaVersion: 1;
  a: string;
  b: string;
  /** True when no difference survives the ignore options. */
  identical: boolean;
  /** Differences that survive the ignore options, most important first. */
  differences: Difference[];
  /** How many differences each ignored class hid. */
  ignored: Partial<Record<DiffClass, number>>;
  /** Platforms compared (on both sides). */
  platforms: string[];
}
