/** The delay the latency benchmark puts on every call to a tenant's Durable Object (see far-object-entry.ts). */
export const FAR_OBJECT_DELAY_MS = 50;
