// Drives b24vote with @bitrix24/b24jssdk, unmodified: webhook calls of vote.Integration.Im.send,
// vote.AttachedVote.get, vote and getMany, and a batch. Prints one JSON object with what the SDK returned.
// Usage: node run.mjs https://127.0.0.1:PORT/rest/USER/CODE/   (trust the test CA with NODE_EXTRA_CA_CERTS)
// Exits non-zero when any call fails.
import { B24Hook } from '@bitrix24/b24jssdk'

const CONNECTOR = 'Bitrix\\Vote\\Attachment\\ImMessageConnector'

function fail(step, detail) {
  process.stderr.write(`${step} failed: ${detail}\n`)
  process.exit(1)
}

async function call(b24, method, params) {
  const response = await b24.actions.v2.call.make({ method, params })
  if (!response.isSuccess) fail(method, response.getErrorMessages().join('; '))
  return response.getData().result
}

async function main() {
  const [webhookUrl, chatId = '1'] = process.argv.slice(2)
  if (!webhookUrl) fail('arguments', 'usage: node run.mjs WEBHOOK_URL [CHAT_ID]')
  // fromWebhookUrl is what a user writes; it insists on https, which the test server provides.
  const b24 = B24Hook.fromWebhookUrl(webhookUrl)
  b24.offClientSideWarning()

  const sent = await call(b24, 'vote.Integration.Im.send', {
    chatId: Number(chatId),
    IM_MESSAGE_VOTE_DATA: {
      QUESTIONS: [{ QUESTION: 'Какой SDK?', FIELD_TYPE: 1, ANSWERS: [{ MESSAGE: 'js' }, { MESSAGE: 'python' }, { MESSAGE: 'php' }] }],
      ANONYMITY: 1,
      OPTIONS: 1
    }
  })
  const got = await call(b24, 'vote.AttachedVote.get', { moduleId: 'im', entityType: CONNECTOR, entityId: sent.messageId })
  const attach = got.attach
  const [questionId, question] = Object.entries(attach.QUESTIONS)[0]
  const answerIds = Object.keys(question.ANSWERS).map(Number)
  const voted = await call(b24, 'vote.AttachedVote.vote', {
    attachId: attach.ID,
    ballot: { [questionId]: [answerIds[0], answerIds[2]] }
  })
  const many = await call(b24, 'vote.AttachedVote.getMany', {
    moduleId: 'im', entityType: CONNECTOR, entityIds: [sent.messageId]
  })

  const batch = await b24.actions.v2.batch.make({
    calls: {
      get: { method: 'vote.AttachedVote.get', params: { attachId: attach.ID } },
      many: ['vote.AttachedVote.getMany', { moduleId: 'im', entityType: CONNECTOR, entityIds: [sent.messageId] }],
      voters: ['vote.AttachedVote.getAnswerVoted', { attachId: attach.ID, answerId: answerIds[0] }]
    },
    options: { isHaltOnError: true, returnAjaxResult: true }
  })
  if (!batch.isSuccess) fail('batch', batch.getErrorMessages().join('; '))
  const batchData = {}
  for (const [key, row] of Object.entries(batch.getData())) {
    if (!row.isSuccess) fail(`batch.${key}`, row.getErrorMessages().join('; '))
    batchData[key] = row.getData().result
  }

  process.stdout.write(JSON.stringify({ sent, attach, voted, many, batch: batchData, questionId, answerIds }) + '\n')
}

const watchdog = setTimeout(() => fail('watchdog', 'no answer within 60 s'), 60_000)
watchdog.unref()
main().catch((error) => fail('script', error && error.stack ? error.stack : String(error)))
