/**
 * The contract clients: payment channels (open, top up, close, redeem), escrow released by a proven reading,
 * and the relayer that submits device-signed actions. The payer runs them; the payee uses the channel
 * client to redeem. Imports no other room of payments.
 */
export * from "./channels";
export * from "./escrow";
export * from "./relayer";
