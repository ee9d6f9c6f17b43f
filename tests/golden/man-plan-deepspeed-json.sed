s/"planning_seconds":.*/"planning_seconds":	(time varies)/
