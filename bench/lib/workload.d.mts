// Types for the tests that read the bench's generated input (test/unit/block-list.test.ts).
export const APP_SLUG: string;
export const LICENSE_ID: string;
export const PROXY_HOST: string;
export function generate(n: number, options?: { imageCount?: number; seed?: number; detect?: "warn" | "off" }): { resourceList: string; multiDoc: string; kustomization: string; images: { name: string; ref: string }[] };
