// The fetch SDK arrives with the SDK issue.
export {};
