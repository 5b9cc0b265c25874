// Where the page gets its models: the served model's weights by dataset, and the news of a swapped one
// (webapp/browser_routes.py). URLs are relative to this file, so the app works behind any path prefix.

import { buildNetwork } from "./network.js";

const routes = new URL("../", import.meta.url); // this file is <prefix>/cnn-demo/static[-<version>]/model_feed.js

/** The network served now for ``dataset``; the server's message if it has none to give. */
export async function fetchNetwork(dataset) {
  const response = await fetch(new URL(`network/${encodeURIComponent(dataset)}.json`, routes));
  const body = await response.json().catch(() => ({ error: `the server answered ${response.status}` }));
  if (!response.ok) throw new Error(body.error);
  return buildNetwork(body);
}

/** Calls onModels({dataset: modelId, ...}) with every model served when connected, then at each swap. */
export function watchModels(onModels) {
  const events = new EventSource(new URL("models/events", routes));
  events.onmessage = (event) => onModels(JSON.parse(event.data));
  return events; // EventSource reconnects by itself after a network error or a server restart
}
