/** How readings arrive: the ingest pipeline, the embedded MQTT broker with its guard, the external-broker subscriber, and message framing. Imports ../support, ../storage and ../checks. */
export * from "./pipeline";
export * from "./framing";
export * from "./mqtt";
export * from "./mqtt-subscriber";
export * from "./coap";
