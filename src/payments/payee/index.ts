/**
 * The payee's side: the voucher book that judges vouchers, the durable voucher store, and the watcher that
 * claims the best vouchers before they stop counting. Imports ../clients.
 */
export * from "./voucher-book";
export * from "./voucher-store";
export * from "./watcher";
