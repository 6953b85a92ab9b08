// Drives the running skill with virtual-alexa, one JSON command per stdin line, one JSON answer
// per stdout line (used by tests/test_alexa_e2e.py):
//   {"op": "open", "url", "model", "locale", "app"}  a new device and session   -> {"ok": true}
//   {"op": "launch"} | {"op": "utter", "text"}      what the user says         -> the response
//   (words no sample matches arrive as AMAZON.FallbackIntent, as on a device)
// A response is {"ssml", "reprompt", "card", "end"}; a failure is {"error"}.
"use strict";

const readline = require("readline");
const { VirtualAlexa } = require("virtual-alexa");

let alexa = null;

async function handle(command) {
  if (command.op === "open") {
    alexa = VirtualAlexa.Builder()
      .skillURL(command.url)
      .interactionModelFile(command.model)
      .applicationID(command.app)
      .locale(command.locale)
      .create();
    return { ok: true };
  }
  const reply = command.op === "launch" ? await alexa.launch() : await heard(command.text);
  const response = reply.response || {};
  return {
    ssml: response.outputSpeech ? response.outputSpeech.ssml : null,
    reprompt: response.reprompt ? response.reprompt.outputSpeech.ssml : null,
    card: response.card || null,
    end: Boolean(response.shouldEndSession),
  };
}

// Words no sample matches: a device sends the fallback intent, where virtual-alexa throws.
async function heard(text) {
  try {
    return await alexa.utter(text);
  } catch (err) {
    if (!String(err && err.message).startsWith("Unable to match utterance")) throw err;
    return alexa.intend("AMAZON.FallbackIntent");
  }
}

let queue = Promise.resolve();
readline.createInterface({ input: process.stdin }).on("line", (line) => {
  // Commands run strictly one after another, in the order they arrive.
  queue = queue.then(async () => {
    let answer;
    try {
      answer = await handle(JSON.parse(line));
    } catch (err) {
      answer = { error: String(err && err.message ? err.message : err) };
    }
    process.stdout.write(JSON.stringify(answer) + "\n");
  });
});
