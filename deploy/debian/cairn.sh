# Installed by the cairn package as /etc/profile.d/cairn.sh: the node's data folder, so that
# `cairn` commands in an administrator's shell need no --data. (The packaged binary defaults to
# /var/lib/cairn anyway; this keeps shells and scripts that read $CAIRN_DATA in step.)
: "${CAIRN_DATA:=/var/lib/cairn}"
export CAIRN_DATA
