// Kept free of zod: identities are parsed by quick commands an agent runs (`townd request`, `townd
// heartbeat`), which should not pay for loading the schema library.

/** Rig names: letters, digits, `-` and `_`, as tmux session names and directories require. */
export const RIG_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
