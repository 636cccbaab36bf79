/**
 * Machine-to-machine payments: the contract clients (`clients/`) and the payee's state (`payee/`). Data
 * sold over HTTP 402 lives in `src/sales/`, which stands on this folder.
 */
export * from "./clients";
export * from "./payee";
