#!/bin/bash
# First boot of the automation server (Amazon Linux 2023), a Terraform template (servers.tf):
# the toolkit from its repository, run
# as a systemd service. Its settings come from /etc/cloudsec-lab.env (SETTINGS_SECRET_ID and the
# non-secret ones); nothing secret is in this script.
set -euo pipefail
dnf install -y python3.11 git
useradd --system --home /opt/cloudsec-lab cloudsec || true
git clone --depth 1 "${repository}" /opt/cloudsec-lab/src
python3.11 -m venv /opt/cloudsec-lab/venv
/opt/cloudsec-lab/venv/bin/pip install /opt/cloudsec-lab/src
touch /etc/cloudsec-lab.env && chmod 600 /etc/cloudsec-lab.env
cat > /etc/systemd/system/cloudsec-automation.service <<'UNIT'
[Unit]
Description=Cloud security lab automation server
After=network-online.target

[Service]
User=cloudsec
EnvironmentFile=/etc/cloudsec-lab.env
Environment=AUTOMATION_STATE_DIR=/opt/cloudsec-lab/state
ExecStart=/opt/cloudsec-lab/venv/bin/python -m helpers.automation --host 0.0.0.0 --port 8787
Restart=on-failure

[Install]
WantedBy=multi-user.target
UNIT
mkdir -p /opt/cloudsec-lab/state && chown cloudsec /opt/cloudsec-lab/state && chmod 700 /opt/cloudsec-lab/state
systemctl daemon-reload
systemctl enable --now cloudsec-automation
