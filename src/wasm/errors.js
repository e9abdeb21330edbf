// Errors made by Rust. The package entry registers the factory that makes the error classes
// it exports (setErrorFactory), so that `instanceof` works with the classes a page imports;
// until then (and in the glue tests) plain TypeError / Error.

let factory = (kind, detail) => (kind === 'type' ? new TypeError(detail) : new Error(detail));

export function setErrorFactory(f) {
  factory = f;
}

export function makeError(kind, detail) {
  return factory(kind, detail);
}
