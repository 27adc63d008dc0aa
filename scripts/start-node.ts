/** `npm run start:node`: the Node server (node/, a deployment of its own) on the local machine. */
import "../node/src/main.ts";
