// The GraphiQL page in a real browser (Debian's Chromium, driven by
// playwright-core): it loads with no request leaving the API's origin,
// signs in with a demo account, puts the token in the Headers pane, runs a
// query and finds its answer on the page.
//
//   PORTAL_URL=http://127.0.0.1:18080 PLAYWRIGHT_CORE=/path/to/node_modules/playwright-core \
//     node .ci/browser/graphiql.cjs
//
// Exits non-zero (with a screenshot in $OUT_DIR) when any step fails.
"use strict";
const { chromium } = require(process.env.PLAYWRIGHT_CORE || "playwright-core");

const base = new URL(process.env.PORTAL_URL || "http://127.0.0.1:8080");
const outDir = process.env.OUT_DIR || "/tmp/portal-ci/browser";
const EMAIL = "margaret.evans@mail.example"; // the demo resident without two-factor
const PASSWORD = "Demo-Password-2026";

function step(message) {
  console.log(`browser: ${message}`);
}

// Sets a GraphiQL editor's text through CodeMirror (typing would fight its
// bracket auto-closing).
async function setEditor(page, selector, text) {
  await page.waitForSelector(`${selector} .CodeMirror`);
  await page.evaluate(
    ([sel, value]) => document.querySelector(`${sel} .CodeMirror`).CodeMirror.setValue(value),
    [selector, text]
  );
}

// Runs the query editor's operation and waits for a result holding
// `expected`; returns the result's text. GraphiQL ignores the run button
// until it has built the schema from introspection, so a click that starts
// nothing is repeated.
async function runAndRead(page, expected) {
  const read = () => document.querySelector(".result-window .CodeMirror").CodeMirror.getValue();
  await page.evaluate(() => document.querySelector(".result-window .CodeMirror").CodeMirror.setValue(""));
  for (let attempt = 0; attempt < 20; attempt++) {
    await page.click(".graphiql-execute-button");
    try {
      await page.waitForFunction(
        () => document.querySelector(".result-window .CodeMirror").CodeMirror.getValue() !== "",
        null,
        { timeout: 1000 }
      );
      break;
    } catch (error) {
      if (attempt === 19) throw new Error("the run button never ran the operation");
    }
  }
  await page.waitForFunction(
    ([text]) => document.querySelector(".result-window .CodeMirror").CodeMirror.getValue().includes(text),
    [expected],
    { timeout: 15000 }
  );
  return page.evaluate(read);
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
    ],
  });
  const page = await browser.newPage();
  const elsewhere = [];
  const failed = [];
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (url.protocol !== "data:" && url.host !== base.host) elsewhere.push(request.url());
  });
  page.on("requestfailed", (request) => failed.push(`${request.url()} ${request.failure().errorText}`));
  page.on("pageerror", (error) => failed.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") failed.push(`console: ${message.text()}`);
  });
  // Nothing may leave the machine: any other host is refused outright.
  await page.route("**/*", (route) => {
    const url = new URL(route.request().url());
    return url.host === base.host ? route.continue() : route.abort("blockedbyclient");
  });

  try {
    step(`opening ${base.origin}/graphql`);
    // GraphiQL runs nothing until it has the schema: wait for it.
    const schema = page.waitForResponse(
      (r) => r.request().method() === "POST" && (r.request().postData() || "").includes("IntrospectionQuery"),
      { timeout: 20000 }
    );
    const response = await page.goto(`${base.origin}/graphql`, { waitUntil: "load" });
    if (response.status() !== 200) throw new Error(`GET /graphql answered ${response.status()}`);
    await page.waitForSelector(".graphiql-container", { timeout: 20000 });
    if ((await schema).status() !== 200) throw new Error("the schema did not load");
    await page.waitForSelector(".graphiql-execute-button:not([disabled])");

    step(`signing in as ${EMAIL}`);
    await setEditor(
      page,
      ".graphiql-query-editor",
      `mutation { login(input: {email: "${EMAIL}", password: "${PASSWORD}"}) { __typename ... on SignedIn { token user { firstName } } } }`
    );
    const signedIn = JSON.parse(await runAndRead(page, "SignedIn"));
    const token = signedIn.data.login.token;
    if (!token) throw new Error(`no token in ${JSON.stringify(signedIn)}`);

    step("putting the token in the Headers pane and asking who I am");
    await page.getByRole("button", { name: "Headers" }).click();
    await setEditor(page, ".graphiql-editor-tool .graphiql-editor:not(.hidden)", JSON.stringify({ Authorization: `Bearer ${token}` }));
    await setEditor(page, ".graphiql-query-editor", "{ viewer { firstName lastName email kind } }");
    const viewer = JSON.parse(await runAndRead(page, EMAIL));
    if (viewer.data.viewer.email !== EMAIL) throw new Error(`viewer was ${JSON.stringify(viewer)}`);
    step(`the page shows ${JSON.stringify(viewer.data.viewer)}`);

    if (elsewhere.length) throw new Error(`requests left the machine: ${elsewhere.join(", ")}`);
    if (failed.length) throw new Error(`failures on the page: ${failed.join("; ")}`);
    step("ok: GraphiQL works offline, every request went to the API");
  } catch (error) {
    require("fs").mkdirSync(outDir, { recursive: true });
    await page.screenshot({ path: `${outDir}/graphiql.png`, fullPage: true }).catch(() => {});
    console.error(`browser: FAILED: ${error.message}`);
    const shown = await page
      .evaluate(() => [...document.querySelectorAll(".CodeMirror")].map((e) => e.CodeMirror.getValue()))
      .catch(() => []);
    console.error(`browser: the editors held: ${JSON.stringify(shown)}`);
    if (elsewhere.length) console.error(`browser: requests elsewhere: ${elsewhere.join(", ")}`);
    if (failed.length) console.error(`browser: failures: ${failed.join("; ")}`);
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
})();
