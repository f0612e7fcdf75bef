// Live results: the server pushes a fresh model over Server-Sent Events and this script copies it into the
// page. Text goes in through textContent only, never as HTML. The few texts written here come from the page
// (data-text-* attributes of <main>, in the portal's language); every other label arrives in the model.
"use strict";

(() => {
  const main = document.querySelector("main[data-events]");
  if (!main || !("EventSource" in window)) return;
  const status = main.querySelector('[data-field="live"]');
  const texts = main.dataset;
  const keep = main.dataset.keep || ""; // "&viewer=…" on a personal link: its pages stay personal
  const fill = (text, values) =>
    text.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));

  const field = (root, name) => root.querySelector(`[data-field="${name}"]`);
  const setText = (el, text) => {
    if (el && el.textContent !== text) el.textContent = text;
  };
  const pageLink = (answerId, page) => `?answer=${answerId}&page=${page}${keep}#answer-${answerId}`;

  function voterItem(voter) {
    const li = document.createElement("li");
    li.className = "voter";
    let avatar;
    if (voter.photo) {
      avatar = document.createElement("img");
      avatar.src = voter.photo;
      avatar.alt = "";
      avatar.width = 32;
      avatar.height = 32;
    } else {
      avatar = document.createElement("span");
      avatar.setAttribute("aria-hidden", "true");
      avatar.textContent = voter.initials;
    }
    avatar.className = "avatar";
    const text = document.createElement("span");
    text.className = "voter-text";
    const name = document.createElement("span");
    name.className = "voter-name";
    name.textContent = voter.name;
    text.append(name);
    if (voter.position) {
      const position = document.createElement("span");
      position.className = "voter-position";
      position.textContent = voter.position;
      text.append(position);
    }
    li.append(avatar, text);
    return li;
  }

  function applyVoters(item, answerId, voters) {
    const box = field(item, "voters");
    if (!box || !voters) return;
    if (box.hidden && voters.total > 0 && voters.total <= 12) box.open = true;
    box.hidden = voters.total === 0;
    setText(field(box, "voters-total"), `(${voters.total})`);
    box.querySelector(".voter-list").replaceChildren(...voters.items.map(voterItem));
    const pager = field(box, "pager");
    pager.hidden = voters.pages <= 1;
    setText(field(pager, "range"), fill(texts.textRange, voters));
    const prev = field(pager, "prev");
    const next = field(pager, "next");
    prev.hidden = voters.page <= 1;
    prev.href = pageLink(answerId, voters.page - 1);
    next.hidden = voters.page >= voters.pages;
    next.href = pageLink(answerId, voters.page + 1);
  }

  function applyAnswer(answer) {
    const item = main.querySelector(`[data-answer-id="${answer.id}"]`);
    if (!item) return;
    setText(field(item, "count"), answer.count_label);
    const percent = field(item, "percent");
    setText(percent, answer.percent_label);
    percent.title = answer.exact_label;
    item.classList.toggle("leading", answer.leading);
    field(item, "leading").hidden = !answer.leading;
    const mine = field(item, "mine");
    if (mine && "mine" in answer) {
      item.classList.toggle("mine", answer.mine);
      mine.hidden = !answer.mine;
    }
    const bar = field(item, "bar");
    bar.value = answer.bar;
    bar.textContent = answer.percent_label;
    bar.setAttribute("aria-valuetext", `${answer.exact_label}, ${answer.count_label}`);
    applyVoters(item, answer.id, answer.voters);
  }

  function apply(data) {
    const badge = field(main, "state");
    badge.className = `badge badge-${data.state}`;
    setText(badge, data.state_label);
    const ends = field(main, "ends");
    ends.dateTime = data.ends_at;
    setText(ends, data.ends_label);
    field(main, "ends-item").hidden = !data.ends_label;
    setText(field(main, "total"), data.total_label);
    if (data.viewer) setText(field(main, "viewer"), data.viewer.label);
    for (const question of data.questions) {
      const section = main.querySelector(`[data-question-id="${question.id}"]`);
      if (section) setText(field(section, "question-total"), question.counter_label);
      question.answers.forEach(applyAnswer);
    }
    main.dataset.revision = String(Number(main.dataset.revision || 0) + 1);
  }

  const source = new EventSource(main.dataset.events);
  source.addEventListener("open", () => setText(status, texts.textLiveOn));
  source.addEventListener("results", (message) => apply(JSON.parse(message.data)));
  source.addEventListener("gone", () => {
    source.close();
    setText(status, texts.textLiveGone);
  });
  source.addEventListener("error", () => {
    const closed = source.readyState === EventSource.CLOSED;
    setText(status, closed ? texts.textLiveStopped : texts.textLiveRetrying);
  });
})();
