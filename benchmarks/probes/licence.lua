-- SPDX-License-Identifier: GPL-3.0-or-later
-- wrk's script for the licence_issue benchmark: every request asks a licence for neon-harbour
-- for one enrolled device.
--   wrk ... -s benchmarks/probes/licence.lua URL/api/v1/licences -- DEVICE_ID TOKEN
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function init(args)
   -- Runs in each wrk thread before its request is formatted.
   wrk.body = '{"track_id": "neon-harbour", "device_id": "' .. args[1] .. '"}'
   wrk.headers["Authorization"] = "Bearer " .. args[2]
end
