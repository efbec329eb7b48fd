#!/bin/bash
# Writes the app's log lines as it wrote them (.platform/rsyslog/web.conf says
# why). The platform writes /etc/rsyslog.d/web.conf again at every deployment
# and every change of configuration, before the predeploy hooks run: this
# hook runs after it in both cases (it is in hooks/ and confighooks/), puts
# ours in its place, and restarts rsyslog to read it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
install -m 0644 "$here/../../rsyslog/web.conf" /etc/rsyslog.d/web.conf
systemctl restart rsyslog
