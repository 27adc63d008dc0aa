// The Firebase Functions entry and the Firestore backend arrive with their issue.
export {};
