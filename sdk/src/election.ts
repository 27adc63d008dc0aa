/**
 * `holdfast/election`: leader election over a client (`campaign(client, key, options)`).
 * Its own entry, so that the browser entry (`holdfast`) carries only the lock client;
 * code both use is one shared chunk in the published package.
 */
export { campaign } from "./campaign.ts";
export type { Campaign, CampaignOptions } from "./types.ts";
