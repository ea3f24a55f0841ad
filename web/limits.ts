/**
 * What the page refuses before reading a file whole (the page checks it before reading, the worker again on what it
 * receives). A model larger than this could not load anyway: the parser's limit for all its constants is 1 GiB.
 * Image files have their cap in src/image/browser-io.ts (MAX_IMAGE_FILE_BYTES).
 */
export const MAX_MODEL_BYTES = 2 ** 30 + 2 ** 26;
