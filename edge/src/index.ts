// The Cloudflare Worker entry and its backends arrive with the edge issue.
export {};
