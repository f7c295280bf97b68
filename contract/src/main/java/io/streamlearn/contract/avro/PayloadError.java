package io.streamlearn.contract.avro;

/** Why a payload could not be accepted: the reason code written to the dead-letter topic. */
public enum PayloadError {
  /** Does not start with the Avro single-object marker C3 01. */
  BAD_MARKER,
  /** Carries a schema fingerprint that matches no released version of the expected schema. */
  UNKNOWN_SCHEMA,
  /**
   * Ends before the header or the record is complete, or declares a length beyond the bytes it has.
   */
  TRUNCATED,
  /** Has a valid header but a body that does not decode. */
  MALFORMED,
  /** Decodes, but its pixels are not the model's width (MNIST: 784 bytes). */
  BAD_PIXEL_COUNT,
  /** Decodes, but its features are not the model's width. */
  BAD_FEATURE_COUNT,
  /** Decodes, but both pixels and features are non-empty. */
  PIXELS_AND_FEATURES,
  /** Decodes, but pixels and features are both empty. */
  NO_INPUT,
  /** Decodes, but holds pixels for a feature model or features for an image model. */
  WRONG_INPUT_KIND,
  /** Decodes, but a feature is NaN or infinite (a missing value is an error, never a zero). */
  NOT_FINITE,
  /** Decodes, but a feature's magnitude exceeds {@link Codecs#MAX_FEATURE_MAGNITUDE} (1e15). */
  FEATURE_TOO_LARGE,
  /** Decodes, but a label or class index lies outside the model's classes (MNIST: 0-9). */
  BAD_LABEL,
  /**
   * Holds a string (in our contract: an id or a name) longer than {@value
   * AvroCodec#MAX_STRING_BYTES} UTF-8 bytes, so that no output made from it can outgrow a record.
   */
  STRING_TOO_LONG,
  /** Decodes, but a field breaks the contract in another way (named in the detail). */
  INVALID_FIELD
}
