/** The arena sample's parts, for its tests and for anyone reusing them. */
export { ArenaServer, ARENA_GRANTS } from "./arena-server.js";
export type { ArenaServerOptions, ArenaStats } from "./arena-server.js";
export { ArenaRules } from "./arena-rules.js";
export type { Phase, RulesCounters, RuleOutcome } from "./arena-rules.js";
export { Bot } from "./bot.js";
export type { BotOptions, BotStats, Disconnect } from "./bot.js";
export { BotSwarm } from "./bot-swarm.js";
export type { BotSwarmOptions } from "./bot-swarm.js";
export { ARENA_PATHS } from "./arena-paths.js";
export { runDemo, DEMO_PATCHES } from "./run-demo.js";
export type { DemoResult } from "./run-demo.js";
export { parseDemoArgs, DEFAULT_DEMO } from "./demo-options.js";
export type { DemoOptions } from "./demo-options.js";
export { Story } from "./story.js";
export { CLOSE_CODES, PROTOCOL_LIMITS } from "./protocol.js";
export type { ClientMessage, ServerMessage, PlayerView, LootView } from "./protocol.js";
