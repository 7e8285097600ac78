// The user-service page: a small client of the public JSON API, and an
// example of using it (Link-header paging, JSON errors, bearer tokens).
"use strict";

const PAGE_SIZE = 20;
const TOKEN_KEY = "user-service.token";

const $ = (id) => document.getElementById(id);

// The orders the API knows, and the direction a column starts in.
const SORTS = ["-created_at", "created_at", "name", "-name", "email", "-email"];
const FIRST_DIRECTION = { name: "", email: "", created_at: "-" };
// Typing waits this long for the next key before it searches.
const SEARCH_DELAY_MS = 250;

const state = {
  // What the list shows: the search and the order, kept in the page's URL
  // (`?q=…&sort=…`) so a search can be bookmarked and shared.
  q: "",
  sort: "-created_at",
  // The path of the page on screen, so it can be reloaded after a change.
  current: "",
  // The list request in flight, cancelled when a newer one starts.
  loading: null,
  // The create being sent: its body and its Idempotency-Key.
  create: null,
};

// The first page of the list as `state` describes it.
function listPath() {
  let path = `/users?limit=${PAGE_SIZE}`;
  if (state.sort !== "-created_at") path += `&sort=${state.sort}`;
  if (state.q) path += `&q=${encodeURIComponent(state.q)}`;
  return path;
}

// Writes the search and order into the address bar (without a new history
// entry per keystroke).
function keepInUrl() {
  const params = new URLSearchParams();
  if (state.q) params.set("q", state.q);
  if (state.sort !== "-created_at") params.set("sort", state.sort);
  const query = params.toString();
  history.replaceState(null, "", query ? `?${query}` : location.pathname);
}

function readUrl() {
  const params = new URLSearchParams(location.search);
  state.q = (params.get("q") || "").trim().slice(0, 100);
  const sort = params.get("sort");
  state.sort = SORTS.includes(sort) ? sort : "-created_at";
  state.current = listPath();
}

// --- talking to the API ---------------------------------------------------

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// `options`: `signal` (to cancel) and extra request `headers`.
async function api(method, path, body, options = {}) {
  const headers = { Accept: "application/json", ...options.headers };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: options.signal,
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "network", "The service cannot be reached. Check that it is running.");
  }
  if (response.status === 204) return { response, data: null };
  let data = null;
  if ((response.headers.get("Content-Type") || "").includes("application/json")) {
    data = await response.json().catch(() => null);
  }
  if (!response.ok) {
    const message = (data && data.error) || `The service answered ${response.status}.`;
    throw new ApiError(response.status, (data && data.code) || "error", message);
  }
  return { response, data };
}

// `<…>; rel="next"` from a Link header, as a same-origin path.
function nextLink(response) {
  const link = response.headers.get("Link");
  if (!link) return null;
  for (const part of link.split(",")) {
    const match = part.match(/<([^>]+)>\s*;\s*rel="?next"?/);
    if (match) return match[1];
  }
  return null;
}

// --- notices: token, unavailable, other failures ---------------------------

function showNotice(text, retry) {
  const notice = $("notice");
  notice.replaceChildren(document.createTextNode(text));
  if (retry) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Try again";
    button.className = "quiet";
    button.addEventListener("click", () => { hideNotice(); retry(); });
    notice.append(" ", button);
  }
  notice.hidden = false;
}

function hideNotice() {
  $("notice").hidden = true;
}

function showTokenPanel(message) {
  $("token-help").textContent = message;
  $("token-panel").hidden = false;
  $("token-input").focus();
}

// Handles what any request may meet: a missing token, an unavailable
// database, an unreachable service. Returns true when it did.
function handleCommon(error, retry) {
  if (!(error instanceof ApiError)) throw error;
  if (error.status === 401) {
    const had = sessionStorage.getItem(TOKEN_KEY);
    showTokenPanel(had
      ? "The API token was not accepted. Enter a valid token."
      : "This service needs an API token. Enter it to continue; it is kept in this browser tab only.");
    return true;
  }
  if (error.status === 503 || error.status === 0) {
    showNotice(error.status === 0 ? error.message
      : "The service is unavailable right now (its database cannot be reached or is full). Try again shortly.", retry);
    return true;
  }
  return false;
}

// --- the list ----------------------------------------------------------------

function formatTime(text) {
  const at = new Date(text);
  return Number.isNaN(at.getTime()) ? text : at.toLocaleString();
}

function renderUsers(users) {
  const list = $("users");
  const template = $("user-template");
  list.replaceChildren(...users.map((user) => {
    const item = template.content.firstElementChild.cloneNode(true);
    item.dataset.id = user.id;
    item.querySelector(".name").textContent = user.name;
    item.querySelector(".email").textContent = user.email;
    const created = item.querySelector(".created");
    created.dateTime = user.created_at;
    created.textContent = formatTime(user.created_at);
    wireUser(item, user);
    return item;
  }));
}

async function load(path) {
  const status = $("list-status");
  const list = $("users");
  // Only the newest request's answer is shown; older ones are cancelled.
  if (state.loading) state.loading.abort();
  const controller = new AbortController();
  state.loading = controller;
  list.setAttribute("aria-busy", "true");
  status.textContent = "Loading…";
  status.className = "";
  try {
    const { response, data } = await api("GET", path, undefined, { signal: controller.signal });
    state.current = path;
    hideNotice();
    renderUsers(data);
    const next = nextLink(response);
    $("next-page").hidden = !next;
    $("next-page").dataset.path = next || "";
    $("first-page").hidden = path === listPath();
    if (data.length === 0) {
      status.textContent = state.q ? `No user matches “${state.q}”.` : "No users yet. Add the first one above.";
      status.className = "empty";
    } else {
      status.textContent = "";
    }
  } catch (error) {
    if (error.name === "AbortError") return;
    renderUsers([]);
    $("next-page").hidden = true;
    if (handleCommon(error, () => load(path))) {
      status.textContent = "";
    } else {
      status.textContent = `Could not load users: ${error.message}`;
      status.className = "error";
    }
  } finally {
    if (state.loading === controller) {
      state.loading = null;
      list.removeAttribute("aria-busy");
    }
  }
}

function reload() {
  return load(state.current);
}

// --- one user: edit and delete ------------------------------------------------

// Edits and deletes start from the user as it is now (read again when the
// person clicks), and send its ETag as `If-Match`: a change someone else
// made meanwhile is answered 412 and never silently overwritten.
function wireUser(item, listed) {
  const view = item.querySelector(".view");
  const editor = item.querySelector(".editor");
  const confirm = item.querySelector(".confirm");
  const editError = item.querySelector(".edit-error");
  const confirmText = item.querySelector(".confirm-text");
  const path = `/users/${encodeURIComponent(listed.id)}`;
  let current = listed;
  let etag = null;

  // Reads the user and its ETag; false (and the list reloaded) when it is
  // gone or the read failed.
  async function refresh() {
    try {
      const { response, data } = await api("GET", path);
      current = data;
      etag = response.headers.get("ETag");
      return true;
    } catch (error) {
      if (error.status === 404) {
        await reload();
      } else if (!handleCommon(error)) {
        showNotice(`Could not read ${current.email}: ${error.message}`);
      }
      return false;
    }
  }

  function fillEditor() {
    editor.elements.email.value = current.email;
    editor.elements.name.value = current.name;
  }

  // Says the user changed under the person's hands, with a button that
  // loads the user as it is now.
  function showChanged(where, text, onReloaded) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "quiet reload-user";
    button.textContent = "Reload this user";
    button.addEventListener("click", async () => {
      if (await refresh()) onReloaded();
    });
    where.replaceChildren(document.createTextNode(`${text} `), button);
  }

  item.querySelector(".edit").addEventListener("click", async () => {
    if (!(await refresh())) return;
    fillEditor();
    editError.textContent = "";
    view.hidden = true;
    editor.hidden = false;
    editor.elements.name.focus();
  });
  item.querySelector(".cancel").addEventListener("click", () => {
    editor.hidden = true;
    view.hidden = false;
    item.querySelector(".edit").focus();
  });
  editor.addEventListener("submit", async (event) => {
    event.preventDefault();
    const patch = {};
    if (editor.elements.email.value !== current.email) patch.email = editor.elements.email.value;
    if (editor.elements.name.value !== current.name) patch.name = editor.elements.name.value;
    editError.textContent = "";
    try {
      await api("PATCH", path, patch, { headers: etag ? { "If-Match": etag } : {} });
      await reload();
    } catch (error) {
      if (error.status === 412) {
        showChanged(editError,
          "Someone else changed this user after you opened it; your edit was not saved.",
          () => {
            fillEditor();
            editError.textContent = "Reloaded: this is the user as it is now.";
            editor.elements.name.focus();
          });
      } else if (error.status === 404) {
        editError.textContent = "This user was deleted meanwhile.";
      } else if (!handleCommon(error)) {
        editError.textContent = error.message;
      }
    }
  });

  const askToDelete = () => {
    confirmText.textContent = `Delete ${current.email}? This cannot be undone.`;
  };
  item.querySelector(".delete").addEventListener("click", async () => {
    if (!(await refresh())) return;
    askToDelete();
    view.hidden = true;
    confirm.hidden = false;
    item.querySelector(".confirm-cancel").focus();
  });
  item.querySelector(".confirm-cancel").addEventListener("click", () => {
    confirm.hidden = true;
    view.hidden = false;
    item.querySelector(".delete").focus();
  });
  item.querySelector(".confirm-delete").addEventListener("click", async () => {
    try {
      await api("DELETE", path, undefined, { headers: etag ? { "If-Match": etag } : {} });
    } catch (error) {
      if (error.status === 412) {
        showChanged(confirmText,
          "Someone else changed this user after you asked to delete it; it was not deleted.",
          askToDelete);
        return;
      }
      // Already gone is what was asked for.
      if (error.status !== 404 && !handleCommon(error)) {
        confirmText.textContent = `Could not delete: ${error.message}`;
        return;
      }
    }
    await reload();
  });
}

// --- create -------------------------------------------------------------------

function fieldOf(error) {
  if (error.code === "conflict") return "email";
  const text = error.message.toLowerCase();
  if (text.includes("email")) return "email";
  if (text.includes("name")) return "name";
  return null;
}

// A random idempotency key (crypto.randomUUID needs HTTPS or localhost;
// getRandomValues works everywhere).
function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function wireCreate() {
  const form = $("create-form");
  const errors = {
    email: $("create-email-error"),
    name: $("create-name-error"),
  };
  const clear = () => {
    for (const [field, element] of Object.entries(errors)) {
      element.textContent = "";
      form.elements[field].removeAttribute("aria-invalid");
    }
    $("create-error").textContent = "";
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clear();
    $("create-submit").disabled = true;
    // One key per person's create, kept while it is retried (Try again
    // after a lost connection), so a retry never creates the user twice.
    const body = { email: form.elements.email.value, name: form.elements.name.value };
    const sent = JSON.stringify(body);
    if (!state.create || state.create.sent !== sent) state.create = { sent, key: newKey() };
    try {
      await api("POST", "/users", body, { headers: { "Idempotency-Key": state.create.key } });
      state.create = null;
      form.reset();
      await load(listPath());
      form.elements.email.focus();
    } catch (error) {
      if (handleCommon(error, () => form.requestSubmit())) return;
      const field = fieldOf(error);
      if (field) {
        errors[field].textContent = error.message;
        form.elements[field].setAttribute("aria-invalid", "true");
        form.elements[field].focus();
      } else {
        $("create-error").textContent = error.message;
      }
    } finally {
      $("create-submit").disabled = false;
    }
  });
}

// --- search, paging, token ------------------------------------------------------

// Shows the first page of what `state` now describes, and says so in the
// URL, the search box and the column headers.
function showList() {
  keepInUrl();
  $("search-q").value = state.q;
  $("search-clear").hidden = !state.q;
  for (const button of document.querySelectorAll(".sort")) {
    const key = button.dataset.key;
    const header = button.parentElement;
    if (state.sort === key) header.setAttribute("aria-sort", "ascending");
    else if (state.sort === `-${key}`) header.setAttribute("aria-sort", "descending");
    else header.setAttribute("aria-sort", "none");
  }
  return load(listPath());
}

function wireSearch() {
  const box = $("search-q");
  let timer = null;
  const search = () => {
    clearTimeout(timer);
    const q = box.value.trim();
    if (q === state.q) return;
    state.q = q;
    showList();
  };
  // Results as you type, once typing pauses: one request per pause, not
  // per key, and a newer one cancels the one before.
  box.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(search, SEARCH_DELAY_MS);
  });
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    search();
  });
  $("search-clear").addEventListener("click", () => {
    box.value = "";
    search();
    box.focus();
  });
  for (const button of document.querySelectorAll(".sort")) {
    button.addEventListener("click", () => {
      const key = button.dataset.key;
      if (state.sort === key) state.sort = `-${key}`;
      else if (state.sort === `-${key}`) state.sort = key;
      else state.sort = `${FIRST_DIRECTION[key]}${key}`;
      showList();
    });
  }
  $("next-page").addEventListener("click", () => load($("next-page").dataset.path));
  $("first-page").addEventListener("click", () => load(listPath()));
}

function wireToken() {
  $("token-button").addEventListener("click", () => {
    const panel = $("token-panel");
    if (panel.hidden) {
      showTokenPanel("Enter the API token this service was started with. It is kept in this browser tab only.");
    } else {
      panel.hidden = true;
    }
  });
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token-input").value.trim();
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    $("token-input").value = "";
    $("token-panel").hidden = true;
    reload();
  });
  $("token-forget").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    $("token-input").value = "";
    reload();
  });
}

readUrl();
wireCreate();
wireSearch();
wireToken();
showList();
