/**
 * Errors the user can act on. The CLI prints `message` alone (no stack) and exits with `exitCode`.
 * Messages name the file, the object or byte offset, and the reason.
 */
export class InputError extends Error {
  constructor(message: string, readonly exitCode: number = 2) {
    super(message);
    this.name = 'InputError';
  }
}
