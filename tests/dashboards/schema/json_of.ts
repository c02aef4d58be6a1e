// JsonOf<T>: the shape that T has in a dashboard's JSON file.
//
// @grafana/schema declares option values as TypeScript string enums
// (BigValueColorMode.Background = "background"). A JSON file holds the plain
// string, which TypeScript never assigns to a string enum, so every enum is
// mapped to the union of its values (`${E}`); numeric enums stay as they are,
// since a number literal is assignable to a numeric enum exactly when one of
// its members has that value. Objects and arrays are mapped member by member;
// a homomorphic mapped type keeps optional members optional and keeps the
// excess property check, which is what catches a misspelt option.
export type JsonOf<T> = T extends string
  ? `${T}`
  : T extends number | boolean | null | undefined
    ? T
    : T extends ReadonlyArray<infer U>
      ? Array<JsonOf<U>>
      : T extends object
        ? { [K in keyof T]: JsonOf<T[K]> }
        : T;
